"""chexweb submit FILE... [--wait] | list | show ID | models   (add --json for the API's JSON)."""

import argparse
import sys
import time
from pathlib import Path

from tqdm import tqdm

from chexweb_cli import output
from chexweb_cli.client import ApiError, ChexWebClient
from chexweb_cli.config import ConfigError, load_config

FINDINGS = ("Atelectasis", "Cardiomegaly", "Effusion", "Infiltration", "Mass", "Nodule",
            "Pneumonia", "Pneumothorax", "Consolidation", "Edema", "Emphysema", "Fibrosis",
            "Pleural_Thickening", "Hernia")
EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_TIMEOUT = 0, 1, 2, 3


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print the API's JSON")
    common.add_argument("--url", help="ChexWeb's address (default: CHEXWEB_URL, config file)")
    main = argparse.ArgumentParser(
        prog="chexweb", description="ChexWeb's API from the command line. The token comes from "
        "CHEXWEB_TOKEN or the config file (~/.config/chexweb/config.ini, [chexweb] token = ...).")
    commands = main.add_subparsers(dest="command", required=True)

    submit = commands.add_parser("submit", parents=[common], help="submit chest X-rays")
    submit.add_argument("files", nargs="+", type=Path, metavar="FILE")
    submit.add_argument("--patient-id", default="")
    submit.add_argument("--accession", default="")
    submit.add_argument("--notes", default="")
    submit.add_argument("--tencrop", action="store_true")
    submit.add_argument("--callback-url", default="")
    submit.add_argument("--wait", action="store_true", help="wait until each study is finished")
    submit.add_argument("--timeout", type=float, default=600, help="seconds --wait waits")
    submit.add_argument("--interval", type=float, default=2, help="seconds between polls")
    submit.add_argument("--no-progress", action="store_true", help="no progress bars")

    listing = commands.add_parser("list", parents=[common], help="list studies")
    listing.add_argument("--search", help="patient identifier or accession starts with")
    listing.add_argument("--patient-id")
    listing.add_argument("--status",
                         choices=["queued", "processing", "done", "failed", "not_eligible"])
    listing.add_argument("--flagged", dest="flagged_finding", choices=FINDINGS)
    listing.add_argument("--reviewed", choices=["true", "false"])
    listing.add_argument("--date-from", metavar="YYYY-MM-DD")
    listing.add_argument("--date-to", metavar="YYYY-MM-DD")
    listing.add_argument("--ordering",
                         choices=["newest", "oldest", "patient", "accession", "status"])
    listing.add_argument("--page", type=int)
    listing.add_argument("--limit", type=int, dest="page_size", help="studies per page (max 100)")

    show = commands.add_parser("show", parents=[common], help="one study and its findings")
    show.add_argument("study", metavar="ID", help="a study id or its API URL")

    commands.add_parser("models", parents=[common], help="the model versions")
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        config = load_config(url=args.url)
    except ConfigError as error:
        print(f"chexweb: {error}", file=sys.stderr)
        return EXIT_USAGE
    for warning in config.warnings:
        print(f"chexweb: warning: {warning}", file=sys.stderr)
    client = ChexWebClient(config.url, config.token)
    try:
        return COMMANDS[args.command](client, args)
    except ApiError as error:
        print(f"chexweb: {error}", file=sys.stderr)
        for field, messages in error.fields.items():
            print(f"  {field}: {' '.join(messages)}", file=sys.stderr)
        return EXIT_REFUSED


def submit(client: ChexWebClient, args) -> int:
    missing = [str(path) for path in args.files if not path.is_file()]
    if missing:
        print(f"chexweb: no such file: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    quiet = True if args.no_progress else None  # None: bars only on a terminal
    studies, refused = [], 0
    total = sum(path.stat().st_size for path in args.files)
    with tqdm(total=total, unit="B", unit_scale=True, desc="Uploading", disable=quiet,
              file=sys.stderr) as bar:
        for path in args.files:
            try:
                studies.append(client.submit(
                    path, patient_id=args.patient_id, accession_number=args.accession,
                    notes=args.notes, tencrop=args.tencrop, callback_url=args.callback_url,
                    on_read=bar.update))
            except ApiError as error:
                refused += 1
                bar.write(f"chexweb: {path}: {error}", file=sys.stderr)
    timed_out = False
    if args.wait and studies:
        studies, timed_out = _wait(client, studies, args, quiet)
    print(output.as_json(studies) if args.json else output.study_table(studies))
    failed = sum(study["status"] == "failed" for study in studies)
    if timed_out:
        return EXIT_TIMEOUT
    return EXIT_REFUSED if refused or failed else EXIT_OK


def _wait(client: ChexWebClient, studies: list[dict], args, quiet) -> tuple[list[dict], bool]:
    deadline = time.monotonic() + args.timeout
    with tqdm(total=len(studies), unit="study", desc="Diagnosing", disable=quiet,
              file=sys.stderr) as bar:
        while True:
            studies = [study if _finished(study) else client.study(study["url"])
                       for study in studies]
            bar.update(sum(map(_finished, studies)) - bar.n)
            if all(map(_finished, studies)):
                return studies, False
            if time.monotonic() > deadline:
                bar.write(f"chexweb: still not finished after {args.timeout:.0f} s",
                          file=sys.stderr)
                return studies, True
            time.sleep(args.interval)


def _finished(study: dict) -> bool:
    return study["status"] in ("done", "failed", "not_eligible")


def list_studies(client: ChexWebClient, args) -> int:
    page = client.studies(search=args.search, patient_id=args.patient_id, status=args.status,
                          flagged_finding=args.flagged_finding, reviewed=args.reviewed,
                          date_from=args.date_from, date_to=args.date_to,
                          ordering=args.ordering, page=args.page, page_size=args.page_size)
    if args.json:
        print(output.as_json(page))
    else:
        print(output.study_table(page["results"]))
        print(f"{len(page['results'])} of {page['count']} studies"
              + (" (more with --page)" if page["next"] else ""))
    return EXIT_OK


def show(client: ChexWebClient, args) -> int:
    study = client.study(args.study)
    print(output.as_json(study) if args.json else output.study_detail(study))
    return EXIT_OK


def models(client: ChexWebClient, args) -> int:
    found = client.models()
    print(output.as_json(found) if args.json else output.models_table(found))
    return EXIT_OK


COMMANDS = {"submit": submit, "list": list_studies, "show": show, "models": models}
