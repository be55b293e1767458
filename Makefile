# iolab: the README's two commands are `make demo` and `make test`.

GO       ?= go
VERSION  := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
# How long each fuzz target runs: briefly in `make test`, longer in `make fuzz`.
FUZZTIME ?= 10s

.PHONY: build demo test vet race allocs fuzz-short fuzz stress bench charts reference clean

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/iolab ./cmd/iolab

# The README's main job: a short experiment over every core on this machine,
# with charts and report.html under results/demo-<timestamp>/.
demo: build
	bin/iolab run experiments/demo.yaml

# The README's test command.
test: vet race allocs fuzz-short

vet:
	$(GO) vet ./...
	GOOS=darwin $(GO) vet ./...   # the non-Linux stubs keep compiling

# Everything under the race detector. The allocation tests are built only
# without it (the detector allocates), so they run again below.
race:
	$(GO) test -race -count=1 ./...

allocs:
	$(GO) test -count=1 -run 'Allocs' ./...

# Every fuzz target in the module, found with `go test -list`, each for
# FUZZTIME. Crashers land in testdata/fuzz/ and are replayed by every test run.
# Go before 1.27 may end a run that found nothing with "context deadline
# exceeded" when FUZZTIME runs out (its coordinator races its own deadline,
# go.dev/issue/75804); a failure that wrote no failing input and says only
# that is reported and passed, anything else fails.
fuzz-short:
	@set -e; log=$$(mktemp); trap 'rm -f "$$log"' EXIT; \
	for pkg in $$($(GO) list ./...); do \
	  for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$target for $(FUZZTIME)"; \
	    if $(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$pkg >"$$log" 2>&1; then \
	      cat "$$log"; \
	    else \
	      cat "$$log"; \
	      if grep -q 'context deadline exceeded' "$$log" && ! grep -q -e 'Failing input written' -e 'panic:' "$$log"; then \
	        echo "fuzz $$target: the fuzzer's end-of-time race (go.dev/issue/75804), no failing input: passed"; \
	      else \
	        exit 1; \
	      fi; \
	    fi; \
	  done; \
	done

fuzz:
	$(MAKE) fuzz-short FUZZTIME=5m

# The opt-in stress tests, one core at a time: ab -n 100000 -c 20000 -k,
# 50,000 connections held by the load generator, 1,000 slow clients beside
# a measured load, SIGTERM under pipelined load (models/conformance), over
# every core in the registry, in the variants it marks Stress. Where RLIMIT_NOFILE is
# lower than a test asks for, it runs at the largest size the limit allows
# and says so. Each core's figures are the "figures:" lines of the log.
stress:
	@IOLAB_STRESS=1 $(GO) test -count=1 -v -timeout 60m -run 'Stress' ./models/conformance/ >stress.log 2>&1; \
	  status=$$?; grep -E '_test\.go:[0-9]+:|^(--- |)FAIL|^ok|^PASS' stress.log; exit $$status

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# The reference results the lessons (notebooks/) show: one run of every
# shipped experiment, each in results/reference/<name>/, committed with its
# data so that its charts can be drawn again anywhere.
REFERENCE_DIR ?= results/reference
EXPERIMENTS   ?= $(wildcard experiments/*.yaml)

# Every chart and report of the reference runs, drawn again from their
# committed data alone (cells.jsonl, env.json, experiment.yaml): no
# benchmark runs. With no reference run yet there is nothing to draw, and
# it says so.
charts: build
	@n=0; for d in $(REFERENCE_DIR)/*/; do \
	  d=$${d%/}; \
	  [ -f "$$d/cells.jsonl" ] || continue; \
	  bin/iolab plot "$$d" >/dev/null || exit 1; \
	  echo "make charts: redrew $$d"; n=$$((n+1)); \
	done; \
	if [ $$n -eq 0 ]; then \
	  echo "make charts: no reference run in $(REFERENCE_DIR)/ yet, so no chart to draw; make reference runs the experiments"; \
	else \
	  echo "make charts: $$n reference run(s) redrawn from their data"; \
	fi

# Every shipped experiment run again into results/reference/<name>/, each
# replacing the run that was there (git keeps the old one; an interrupted
# one is finished with bin/iolab run --resume DIR). About 70 minutes on
# two cores: run it on a quiet machine. EXPERIMENTS=experiments/sqpoll.yaml
# runs only that one. ssh.yaml is a template that names hosts you must fill
# in, so it is not part of the reference. An experiment this machine cannot
# run (netns-netem.yaml without sch_netem) does not stop the others: the
# list of those that failed comes at the end, and the exit status says so.
REFERENCE_SKIP ?= experiments/ssh.yaml
reference: build
	@for f in $(filter-out $(REFERENCE_SKIP),$(EXPERIMENTS)); do bin/iolab run --dry-run "$$f" | head -n 1; done
	@failed=; for f in $(filter-out $(REFERENCE_SKIP),$(EXPERIMENTS)); do \
	  bin/iolab run --dir "$(REFERENCE_DIR)/$$(basename "$$f" .yaml)" --replace "$$f" || failed="$$failed $$f"; \
	done; \
	if [ -n "$$failed" ]; then echo "make reference: failed:$$failed" >&2; exit 1; fi

clean:
	rm -rf bin
