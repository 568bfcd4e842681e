"""Official documents (公文): numbered, versioned, immutable snapshots in .docx and PDF.

The store (:mod:`.models`, :mod:`.store`) and the series table (:mod:`.series`) live
here; the renderers (python-docx, Chromium print-to-PDF) live in ``civgrid.maps``
and are handed in as a callback, so this package never renders anything itself.
See docs/documents.md.
"""
