"""GraphPipe flatbuffer bindings, generated from `inference/graphpipe.fbs`; do not edit by hand.

They live here, not under the top-level name `graphpipe`, which the official PyPI client takes.
Regenerate from the repository root with flatc (Debian `flatbuffers-compiler`, 2.0.8 made these):

    flatc --python -o /tmp/graphpipe-fb inference/graphpipe.fbs
    cp /tmp/graphpipe-fb/graphpipe/[A-Z]*.py inference/graphpipe_fb/
    sed -i 's/from graphpipe\\./from inference.graphpipe_fb./' inference/graphpipe_fb/*.py
"""
