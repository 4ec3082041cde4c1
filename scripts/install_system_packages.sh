#!/usr/bin/env bash
# The Debian packages the tests use, installed only where what they provide is missing: Chromium
# (browser tests), redis-server, npm (the viewer's library), Orthanc with its DICOMweb plugin (a
# real PACS), dcmtk (storescu, echoscu) and dicom3tools (dciodvfy). Each is asked for alone, so a
# machine whose Node.js already brings npm (NodeSource's nodejs conflicts with Debian's npm) is
# never asked to replace it.
set -euo pipefail

missing=()
need() {  # need CHECK PACKAGE...: the packages, when CHECK (a command, or a file path) is absent
  local check="$1"; shift
  if [[ "$check" == /* ]]; then [[ -e "$check" ]] && return 0
  else command -v "$check" >/dev/null && return 0; fi
  missing+=("$@")
}
need chromium chromium
need chromedriver chromium-driver
need redis-server redis-server
need npm npm
need Orthanc orthanc
need /usr/share/orthanc/plugins/libOrthancDicomWeb.so orthanc-dicomweb
need storescu dcmtk
need dciodvfy dicom3tools

[[ ${#missing[@]} -eq 0 ]] && exit 0
if [[ "$(id -u)" != 0 ]]; then
  echo "Please install Debian packages: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "Installing Debian packages: ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
