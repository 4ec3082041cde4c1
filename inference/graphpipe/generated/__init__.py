"""GraphPipe flatbuffer bindings, generated from `inference/graphpipe/graphpipe.fbs`; do not edit by hand.

They live here, not under the top-level name `graphpipe`, which the official PyPI client takes.
Regenerate from the repository root with flatc (Debian `flatbuffers-compiler`, 2.0.8 made these):

    flatc --python -o /tmp/graphpipe-fb inference/graphpipe/graphpipe.fbs
    cp /tmp/graphpipe-fb/graphpipe/[A-Z]*.py inference/graphpipe/generated/
    sed -i 's/from graphpipe\\./from inference.graphpipe.generated./' inference/graphpipe/generated/*.py
"""
