"""ChexWeb as a DICOM node: instances in (C-STORE listener, STOW-RS), results out (a TID 1500
Comprehensive SR and a key image, by C-STORE or STOW-RS)."""
