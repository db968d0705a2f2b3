"""A minimal Django project (SQLite in memory) whose RQ settings are the README's Django block,
read from README.md and run as written (tests/integration/test_django.py)."""

import os
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[1]
sys.path.append(str(BASE_DIR.parents[1]))  # the checkout, for tests.readme_blocks

from tests.readme_blocks import section_blocks  # noqa: E402

SECRET_KEY = "test-only"
DEBUG = False
USE_TZ = True
ALLOWED_HOSTS: list[str] = []
INSTALLED_APPS = ["django.contrib.contenttypes", "shop"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ.get("DJANGO_DB", ":memory:")}}

exec(section_blocks("Django")[0])  # the README's block, as a user pastes it into settings.py
