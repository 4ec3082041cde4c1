"""`manage.py dicom_listener`: the DICOM listener (the Procfile's `dicom` process), on
CHEXWEB_DICOM_LISTEN as CHEXWEB_DICOM_AE_TITLE, for the nodes in CHEXWEB_DICOM_PEERS."""

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from diagnoses.dicom.listener import incoming_folder_take, listener_ae, listener_handlers


class Command(BaseCommand):
    help = "Take C-ECHO and C-STORE (chest radiographs) from the DICOM peers into studies."

    def handle(self, *args, **options):
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        host, port = settings.CHEXWEB_DICOM_LISTEN
        peers = settings.CHEXWEB_DICOM_PEERS
        if not peers:
            self.stderr.write("CHEXWEB_DICOM_PEERS is empty: no DICOM node may send, so nothing "
                              "listens. Set it (AE@host:port, comma-separated) to receive.")
            _wait(stop)
            return
        ae = listener_ae(ae_title=settings.CHEXWEB_DICOM_AE_TITLE, peers=peers)
        server = ae.start_server((host, port), block=False, evt_handlers=listener_handlers())
        # Once the port is ours: a second listener started by mistake fails to bind above and
        # never empties the folder the running one receives into.
        incoming_folder_take(settings.VAR_DIR / "dicom-incoming" / str(port))
        self.stdout.write(f"DICOM listener {settings.CHEXWEB_DICOM_AE_TITLE} on {host}:{port} "
                          f"for {', '.join(map(str, peers.values()))}", ending="\n")
        self.stdout.flush()
        _wait(stop)
        server.shutdown()


def _wait(stop: threading.Event) -> None:
    while not stop.wait(1.0):
        pass
