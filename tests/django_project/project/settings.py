"""A minimal Django project (SQLite in memory) whose RQ settings are the README's Django block,
read from README.md and run as written (tests/integration/test_django.py)."""

import os
from pathlib import Path

from readme import django_settings_block  # beside manage.py

SECRET_KEY = "test-only"
DEBUG = False
USE_TZ = True
ALLOWED_HOSTS: list[str] = []
INSTALLED_APPS = ["django.contrib.contenttypes", "shop"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ.get("DJANGO_DB", ":memory:")}}
BASE_DIR = Path(__file__).resolve().parents[1]

exec(django_settings_block())  # the README's block, as a user pastes it into settings.py
