# The two commands of the README: `make build` and `make test`. Both set everything up.
VENV := .venv
READY := $(VENV)/.ready
MO := portal/locale/fr/LC_MESSAGES/django.mo

.PHONY: build test setup clean bench check-min doc-images portal portal-messages

build: $(READY)
	$(VENV)/bin/python build.py

test: $(READY) $(MO)
	$(VENV)/bin/python -m pytest

setup: $(READY) $(MO)

# The portal's French strings, compiled again when they change (Django reads the .mo).
$(MO): portal/locale/fr/LC_MESSAGES/django.po $(READY)
	$(VENV)/bin/pybabel compile --domain django --directory portal/locale

# The portal on 127.0.0.1:8000 with Redis, one worker and demo accounts (docs/deploy.md).
portal: $(READY) $(MO)
	bash scripts/portal.sh

# After changing the portal's strings: update the French catalogue, then translate.
portal-messages: $(READY)
	cd portal && PORTAL_ALLOW_DEV_KEY=1 ../$(VENV)/bin/python -m portal makemessages -l fr --no-location --no-wrap --no-obsolete

$(READY): pyproject.toml constraints.txt package-lock.json scripts/setup.sh
	bash scripts/setup.sh
	touch $@

clean:
	rm -rf output $(VENV) $(MIN)

# Not part of `make test`: the suite again, with the lowest versions pyproject.toml allows
# for every direct dependency, in a separate environment, so that the bounds stay true.
MIN := .venv-min
check-min: $(READY)
	rm -rf $(MIN)
	python3 -m venv $(MIN)
	python3 scripts/lowest_versions.py > $(MIN)/lowest.txt
	$(MIN)/bin/python -m pip install --quiet --disable-pip-version-check \
	  --constraint $(MIN)/lowest.txt --editable '.[test]'
	$(MIN)/bin/python -m pip freeze --exclude-editable > $(MIN)/installed.txt
	$(MIN)/bin/python -m pytest

bench: $(READY)
	$(VENV)/bin/python scripts/bench.py $(N)

# The pictures of docs/ecrire-un-guide.md, drawn from the real templates.
doc-images: $(READY)
	$(VENV)/bin/python scripts/doc_images.py
