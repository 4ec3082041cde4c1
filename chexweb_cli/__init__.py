"""`python -m chexweb_cli`: ChexWeb's API from the command line, for scripts and PACS bridges.

It speaks HTTP to /api/v1/ only (requests, tqdm) and never imports Django."""
