# laborcredit — common tasks. `make help` lists them.
.PHONY: help test lint bench bench-smoke build

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build ./laborcredit
	go build -o laborcredit ./cmd/laborcredit

test: ## run every test (the README's command)
	go test ./...

lint: ## gofmt and go vet
	@test -z "$$(gofmt -l .)" || (gofmt -l . && exit 1)
	go vet ./...

bench: ## benchmarks for benchstat: -count=10
	go test -run='^$$' -bench=. -count=10 ./engine/

bench-smoke: ## every benchmark once
	go test -run='^$$' -bench=. -benchtime=1x ./...
