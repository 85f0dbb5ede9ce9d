// Package ratings is the domain of laborcredit: employers and their labour
// compliance records, the rating periods, and the rating workflow that loads an
// employer's facts for a period, scores them with the engine and stores the
// result together with any awards and an append-only audit log entry. It owns
// the domain types, persistence (Store) and workflow (Service), plus reference
// data such as the GB/T 2260 region codes used to scope employers and users.
package ratings
