"""Run the Temporal worker: every app's workflows and activities on the Nimbus task queue."""

import asyncio
import os
import signal
import sys

from django.core.management.base import BaseCommand

from nimbus.temporal import run_worker


class Command(BaseCommand):
    help = "Run the Temporal worker (and create or update the schedules unless --no-schedules)."

    def add_arguments(self, parser):
        parser.add_argument("--no-schedules", action="store_true", help="Do not create or update schedules.")

    def handle(self, *args, **options):
        async def main() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await run_worker(schedules=not options["no_schedules"], stop=stop)

        asyncio.run(main())
        self.stdout.write("Temporal worker stopped.")
        sys.stdout.flush()
        sys.stderr.flush()
        # temporalio can abort in interpreter finalization after a clean stop (sdk-python#300).
        os._exit(0)
