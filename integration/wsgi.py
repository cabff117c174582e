"""The WSGI entry point gunicorn loads: `integration.wsgi:app`."""

from integration.app import create_app
from integration.heap import settle_heap
from integration.logs import configure
from integration.settings import load_settings

_settings = load_settings()
configure(_settings.log_format, _settings.secrets())
app = create_app()
settle_heap()
