"""The app's configuration: in a project with this app, `worker_tasks.enqueue` goes through django-rq."""

from __future__ import annotations

from django.apps import AppConfig


class RqDeadLetterConfig(AppConfig):
    name = "failure_handlers.contrib.django"
    label = "rq_dead_letter"
    verbose_name = "RQ dead-letter queue"

    def ready(self) -> None:
        from failure_handlers.contrib.django.queue import django_queue
        from failure_handlers.integration import use_queue_factory

        use_queue_factory(django_queue)
