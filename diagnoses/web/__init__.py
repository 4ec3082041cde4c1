"""The clinicians' web pages, one module per page family."""
