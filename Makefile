# Two commands: `make run` and `make test`. Both set up everything they need.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
FLASK   := $(BIN)/flask --app wsgi
CHROMIUM ?= /usr/bin/chromium
MO      := checkin_pwa/translations/zh_CN/LC_MESSAGES/messages.mo

.PHONY: screenshots run test install install-test debian-packages migrate seed translations i18n-update bench bench-photos clean

$(BIN)/activate:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements-test.txt requirements-postgres.txt requirements-s3.txt requirements.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-test.txt
	touch $@

install: $(VENV)/.installed translations
install-test: $(VENV)/.installed-test translations debian-packages

# The compiled catalogue is built, not committed.
translations: $(VENV)/.installed
	$(BIN)/pybabel -q compile -d checkin_pwa/translations

# After adding text: extract, merge into the catalogues, then translate the new entries.
i18n-update: $(VENV)/.installed
	flock /tmp/checkin-pwa-i18n.lock sh -c '$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext -o messages.pot checkin_pwa && \
	  $(BIN)/pybabel -q update -N --no-wrap -i messages.pot -d checkin_pwa/translations && rm -f messages.pot'

# What the tests need from Debian: Chromium, the Chinese fonts an Android phone has (Noto CJK:
# without them pages are laid out and photographed with boxes for Chinese text), and a
# PostgreSQL server the tests start on their own (a Unix socket in a temporary folder), and
# nginx, run in front of gunicorn with deploy/nginx/checkin.conf (tests/test_behind_nginx.py),
# and a Redis the login limits count in, stopped under them (tests/test_r1_redis.py).
DEBIAN_TEST_PACKAGES := chromium fonts-noto-cjk postgresql nginx redis-server
debian-packages:
	@if [ ! -x "$(CHROMIUM)" ] || ! dpkg -s $(DEBIAN_TEST_PACKAGES) >/dev/null 2>&1; then \
	  echo "installing Debian's $(DEBIAN_TEST_PACKAGES)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBIAN_TEST_PACKAGES)) \
	    || { echo "could not install $(DEBIAN_TEST_PACKAGES) (need root and apt)"; exit 1; }; \
	fi

migrate: install
	$(FLASK) db upgrade

seed: migrate
	$(FLASK) seed-demo

# gunicorn.conf.py (127.0.0.1:8000, 4 threads per worker, access log); two workers whatever the cores.
run: seed
	$(BIN)/gunicorn -c gunicorn.conf.py --workers 2 wsgi:app

# Two passes. 1: the whole suite on SQLite, photos on disk, the browser tests. 2: every test
# that uses a database again, on a PostgreSQL server (and the object store) the run starts
# itself in a temporary folder (tests/servers/); the browser tests are not run twice.
# They run at the same time (the browser tests mostly wait on Chromium, so a second core
# would idle; each pass has its own servers, ports and temporary folders); pass 2's report
# follows pass 1's. The target fails if either failed. E.g. make test PYTEST_ARGS="-x"
test: install-test
	@status=0; report=$$(mktemp); \
	TEST_DATABASE=postgresql TEST_PHOTO_STORE=s3 $(BIN)/python -m pytest -p no:cacheprovider \
	  --ignore=tests/browser $(PYTEST_ARGS) >$$report 2>&1 & second=$$!; \
	$(BIN)/python -m pytest $(PYTEST_ARGS) || status=1; \
	wait $$second || status=1; \
	echo "==== pass 2: the database tests on PostgreSQL, photos in the object store ===="; \
	cat $$report; rm -f $$report; \
	exit $$status

# The README's screenshots, written again to docs/screenshots/ (a test run leaves them alone).
screenshots: install-test
	UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest -q tests/browser/test_screenshots.py tests/browser/test_account.py

# Needs only the runtime (gunicorn is in requirements.txt); e.g. make bench BENCH_ARGS="--requests 320"
bench: install
	$(BIN)/python benchmarks/bench_http.py $(BENCH_ARGS)

# Photo upload cost and bytes on the wire; needs Playwright and Chromium (the phone's shrink
# runs in the browser), e.g. make bench-photos BENCH_ARGS="--runs 5"
bench-photos: install-test
	CHROMIUM_PATH=$(CHROMIUM) $(BIN)/python benchmarks/bench_photos.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
