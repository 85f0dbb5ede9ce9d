package api

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

//go:embed openapi.json
var openapiJSON []byte

// OpenAPI returns the OpenAPI document the server serves.
func OpenAPI() []byte { return openapiJSON }

func (s *server) routes(r *gin.Engine, metricsHandler http.Handler) {
	r.GET("/healthz", func(c *gin.Context) { ok(c, gin.H{"status": "ok"}) })
	r.GET("/readyz", s.ready)
	r.GET("/metrics", gin.WrapH(metricsHandler))
	s.webRoutes(r)

	v1 := r.Group("/api/v1")
	v1.GET("/openapi.json", func(c *gin.Context) { rawJSON(c, openapiJSON) })

	credit := v1.Group("/credit", s.requireClient, s.checkCreditInput)
	credit.GET("/changes", s.creditChanges)
	credit.POST("/batch", s.creditBatch)
	credit.GET("/:uscc", s.creditOne)

	pub := v1.Group("/public", s.limitIP)
	pub.GET("/ratings", s.publicSearch)
	pub.GET("/ratings/:uscc", s.publicEmployer)
	pub.GET("/awards", s.publicAwards)
	pub.GET("/publicity", s.publicity)
	pub.POST("/objections", s.fileObjection)

	u := v1.Group("", s.requireUser)
	u.GET("/me", func(c *gin.Context) { ok(c, actorView(actor(c))) })
	u.GET("/periods", s.listPeriods)
	u.PATCH("/periods/:year", s.updatePeriod)
	u.POST("/periods/:year/activate", s.activate)
	u.POST("/periods/:year/rate", s.rate)
	u.POST("/periods/:year/review", s.bulkStep(s.svc.ReviewAll, "reviewed"))
	u.POST("/periods/:year/confirm", s.bulkStep(s.svc.ConfirmAll, "confirmed"))
	u.POST("/periods/:year/publicize", s.publicize)
	u.POST("/rule-sets", s.uploadRuleSet)
	u.GET("/ratings", s.listRatings)
	u.GET("/ratings/:id", s.getRating)
	u.POST("/ratings/:id/review", s.review)
	u.POST("/ratings/:id/confirm", s.confirm)
	u.POST("/ratings/:id/rerate", s.rerate)
	u.POST("/ratings/:id/correct", s.correct)
	u.GET("/objections", s.listObjections)
	u.POST("/objections/:id/decision", s.decideObjection)
	u.POST("/ratings/:id/objections/decision", s.decideObjections)
	u.POST("/nominations", s.nominate)
	u.POST("/nominations/:id/decision", s.decideNomination)
	u.GET("/employers", s.listEmployers)
	u.POST("/employers", s.addEmployer)
	u.POST("/reviews", s.recordReview)
	u.POST("/complaints", s.recordComplaint)
	u.POST("/deposits", s.recordDeposit)
	u.POST("/rule-sets/check", s.checkRuleSet)
	u.POST("/periods/:year/simulate", s.simulate)
	u.POST("/declarations/award", s.applyForAward)
	u.GET("/employers/:uscc/integrity-file", s.integrityFile)
	u.GET("/employers/:uscc/notifications", s.notifications)
	u.POST("/cases", s.recordCase)
	u.POST("/declarations/annual", s.declareAnnual)
	u.POST("/imports/:kind", s.importRecords)
}
