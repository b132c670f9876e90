"""Which files each upload of a repair takes (issue 14), declared once: the services check
against it (pages and API alike), the forms show it (``accept=`` and help text).

The consumer's repair request carries photos of the fault; the repairer (or either side) adds
photos, video or an inspection report (PDF) to the repair; a repairer applying for admission
sends its licence as a PDF or a photo.
"""

from aftersales.casefile.uploads import IMAGE, PDF, VIDEO, Accept

MAX_FAULT_PHOTOS = 6
FAULT_PHOTOS = Accept(IMAGE)
REPAIR_EVIDENCE = Accept(IMAGE, VIDEO, PDF)
# A repairer's business licence or qualification: a scan (PDF) or a photo.
LICENCE = Accept(IMAGE, PDF)

# What an explicit ``RepairEvidence.kind`` claims the file is.
KIND_CLAIMS = {"photo": (IMAGE,), "video": (VIDEO,), "report": (PDF, IMAGE)}
