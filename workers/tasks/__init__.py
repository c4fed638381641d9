"""Celery tasks, one module per area. Importing this package registers all of them (in-process runs)."""

from importlib import import_module

from workers.celery_app import TASK_MODULES

for _module in TASK_MODULES:
    import_module(_module)
