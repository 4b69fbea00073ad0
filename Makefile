# TransactFlowOS: `make run` starts the desktop, `make test` runs every check.
# Both set up everything they need: a .venv with the project, and the Debian
# packages the desktop and the tests use (installed with apt-get when missing).

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

RUN_DEBS := libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 \
	libxcb-shape0 libxcb-xinerama0 libxkbcommon-x11-0 libegl1 libgl1 libfontconfig1 libdbus-1-3 \
	fonts-dejavu-core
TEST_DEBS := $(RUN_DEBS) xvfb xauth x11-apps gnome-keyring dbus-x11 libsecret-tools \
	poppler-utils chromium
# Building the package (PyInstaller reads binaries with objdump) and smoke-testing it.
PACKAGE_DEBS := binutils desktop-file-utils xdotool curl
PACKAGE_STAMP := $(VENV)/.package-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

export QT_API := pyside6

.PHONY: run test lint typecheck pytest bench firestore-indexes system-deps-run system-deps-test venv \
	clean serve package icons system-deps-package

run: system-deps-run $(STAMP)
	$(PY) -m app --seed-demo-if-empty

serve: $(STAMP)
	$(VENV)/bin/tfos serve --seed-demo-if-empty

test: system-deps-test $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check app server tests bench packaging
	$(VENV)/bin/ruff format --check app server tests bench packaging
	$(VENV)/bin/lint-imports

typecheck: $(STAMP)
	$(VENV)/bin/mypy

pytest: $(STAMP)
	dbus-run-session -- sh tests/with-keyring.sh $(VENV)/bin/python -m pytest $(PYTEST_ARGS)

# every query the code makes, recorded by a test run, as firestore.indexes.json
firestore-indexes: $(STAMP)
	$(PY) -m tests.query_shapes

bench: $(STAMP)
	PYTHONPATH=. $(PY) bench/wal.py --quick
	PYTHONPATH=. $(PY) bench/domain.py --quick

# The installable desktop: dist/transactflowos/ (PyInstaller, one folder, both programs)
# and dist/transactflowos_<version>_<arch>.deb. packaging/smoke.sh tests what this builds.
package: system-deps-package $(STAMP) $(PACKAGE_STAMP)
	$(PY) packaging/render_icons.py --check
	rm -rf dist/transactflowos dist/transactflowos_*.deb
	$(VENV)/bin/pyinstaller --noconfirm --log-level WARN --distpath dist \
		--workpath build/pyinstaller packaging/transactflowos.spec
	$(PY) packaging/build_deb.py --depends "$(RUN_DEBS)"

# Re-render the icon's PNGs and .ico after changing its SVGs in resources/icons/.
icons: $(STAMP)
	$(PY) packaging/render_icons.py

$(PACKAGE_STAMP): pyproject.toml
	$(PY) -m pip install -q -e '.[package]'
	rm -f $(VENV)/.package-*
	touch $@

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

system-deps-run:
	@sh tests/apt-ensure.sh $(RUN_DEBS)

system-deps-test:
	@sh tests/apt-ensure.sh $(TEST_DEBS)

system-deps-package:
	@sh tests/apt-ensure.sh $(RUN_DEBS) $(PACKAGE_DEBS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build dist
