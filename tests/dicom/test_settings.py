"""The DICOM settings are parsed strictly: a malformed value stops the start, never guessed at."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from chexweb.dicom_nodes import (
    DicomNode,
    ae_title_parse,
    dicomweb_urls_parse,
    listen_parse,
    peers_parse,
    send_to_parse,
)


def test_it_reads_peers_and_who_gets_the_results():
    peers = peers_parse("P", " ORTHANC@127.0.0.1:4242 , ROUTER@pacs.example.org:104")
    assert peers == {"ORTHANC": DicomNode("ORTHANC", "127.0.0.1", 4242),
                     "ROUTER": DicomNode("ROUTER", "pacs.example.org", 104)}
    assert send_to_parse("S", "ROUTER", peers) == [peers["ROUTER"]]
    assert send_to_parse("S", "", peers) == [] and peers_parse("P", "") == {}
    assert listen_parse("L", "0.0.0.0:11112") == ("0.0.0.0", 11112)
    assert dicomweb_urls_parse("W", "http://pacs:8042/dicom-web/") == ["http://pacs:8042/dicom-web"]


@pytest.mark.parametrize("parse, value", [
    (lambda v: peers_parse("CHEXWEB_DICOM_PEERS", v), "ORTHANC"),
    (lambda v: peers_parse("CHEXWEB_DICOM_PEERS", v), "ORTHANC@host"),
    (lambda v: peers_parse("CHEXWEB_DICOM_PEERS", v), "ORTHANC@host:0"),
    (lambda v: peers_parse("CHEXWEB_DICOM_PEERS", v), "ORTHANC@host:99999"),
    (lambda v: peers_parse("CHEXWEB_DICOM_PEERS", v), "A@h:1,A@h:2"),
    (lambda v: peers_parse("CHEXWEB_DICOM_PEERS", v), "WAY_TOO_LONG_AE_TITLE@h:1"),
    (lambda v: peers_parse("CHEXWEB_DICOM_PEERS", v), "BACK\\SLASH@h:1"),
    (lambda v: send_to_parse("CHEXWEB_DICOM_SEND_TO", v, {}), "ORTHANC"),
    (lambda v: listen_parse("CHEXWEB_DICOM_LISTEN", v), "11112"),
    (lambda v: listen_parse("CHEXWEB_DICOM_LISTEN", v), "host name:11112"),
    (lambda v: ae_title_parse("CHEXWEB_DICOM_AE_TITLE", v), " CHEXWEB"),
    (lambda v: ae_title_parse("CHEXWEB_DICOM_AE_TITLE", v), ""),
    (lambda v: dicomweb_urls_parse("CHEXWEB_DICOMWEB_SEND_TO", v), "ftp://pacs/dicom-web"),
])
def test_it_refuses_a_malformed_value(parse, value):
    with pytest.raises(ImproperlyConfigured):
        parse(value)
