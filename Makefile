# The two commands of the README: `make build` and `make test`. Both set everything up.
VENV := .venv
READY := $(VENV)/.ready

.PHONY: build test setup clean bench doc-images

build: $(READY)
	$(VENV)/bin/python build.py

test: $(READY)
	$(VENV)/bin/python -m pytest

setup: $(READY)

$(READY): pyproject.toml constraints.txt package-lock.json scripts/setup.sh
	bash scripts/setup.sh
	touch $@

clean:
	rm -rf output $(VENV)

bench: $(READY)
	$(VENV)/bin/python scripts/bench.py $(N)

# The pictures of docs/ecrire-un-guide.md, drawn from the real templates.
doc-images: $(READY)
	$(VENV)/bin/python scripts/doc_images.py
