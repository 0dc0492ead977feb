# Developer shortcuts. Translations: `make messages` after changing UI strings in code,
# translate the new entries in locales/*/LC_MESSAGES/messages.po, then `make compile`
# (the bot also compiles .po files in memory at start, so compiling is optional locally).
PY ?= .venv/bin/python
BABEL = $(PY) -m babel.messages.frontend

.PHONY: install test lint messages compile run

install:
	python3 -m venv .venv && $(PY) -m pip install -e '.[dev]'

test:
	$(PY) -m pytest -q

lint:
	$(PY) -m ruff check . && $(PY) -m ruff format --check . && $(PY) -m mypy

messages:
	$(BABEL) extract -F babel.cfg -k N_ -k gettext -k ngettext:1,2 --no-location --sort-output \
		--project peerline -o locales/messages.pot .
	$(BABEL) update -i locales/messages.pot -d locales -D messages --no-fuzzy-matching --ignore-obsolete

compile:
	$(BABEL) compile -d locales -D messages --use-fuzzy --statistics

run:
	$(PY) -m bot run
