"""Which model answered a GraphPipe request: our server's one addition to the protocol.

Every answer of our server's model endpoint (infer and metadata) carries the header
`GraphPipe-Metadata-Sha256`: the sha256 of its MetadataResponse body. A client that kept the
metadata with that digest knows which model computed the outputs without asking again, even after
a failover to another server; when the digest changes (a new model was deployed) it asks. Any
other conforming server sends no such header and is asked for its metadata after each answer.
"""

import hashlib

METADATA_DIGEST_HEADER = "GraphPipe-Metadata-Sha256"


def metadata_digest(metadata_response: bytes) -> str:
    """The sha256 (hex) of a MetadataResponse body."""
    return hashlib.sha256(metadata_response).hexdigest()
