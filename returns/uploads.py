"""Which files each evidence upload of a return takes (issue 14), declared once: the services
check against it (pages and API alike), the forms show it (``accept=`` and help text) and the API
help texts name it.

The consumer's request asks for photos or video of the problem (R10, R19); the merchant's
refusal and inspection (R5) and both sides' statements in arbitration (R19) may also carry an
inspection report (PDF), as may evidence added later.
"""

from aftersales.casefile.uploads import IMAGE, PDF, VIDEO, Accept

PHOTO_OR_VIDEO = Accept(IMAGE, VIDEO)
PHOTO_VIDEO_OR_REPORT = Accept(IMAGE, VIDEO, PDF)

# By the stage the evidence is saved at (``evidence_clean(stage=...)``).
EVIDENCE_ACCEPT = {
    "request": PHOTO_OR_VIDEO,
    "reject": PHOTO_VIDEO_OR_REPORT,
    "receive": PHOTO_VIDEO_OR_REPORT,
    "arbitration": PHOTO_VIDEO_OR_REPORT,
    "add": PHOTO_VIDEO_OR_REPORT,
}

# The ``ReturnEvidence.kind`` recorded for what a file is, and what an explicit kind claims.
EVIDENCE_KIND = {IMAGE: "photo", VIDEO: "video", PDF: "report"}
KIND_CLAIMS = {"photo": (IMAGE,), "video": (VIDEO,), "report": (PDF, IMAGE)}
