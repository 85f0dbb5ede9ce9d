// Package api is the HTTP service of laborcredit (gin): the credit-sharing
// API for banks and bureaus (API keys), the officer and employer API
// (tokens), the public API, health, readiness and metrics, and the OpenAPI
// document. Handlers decode, call ratings, encode; authorization and every
// rule live in ratings.
package api
