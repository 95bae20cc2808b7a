"""The PDF report, laid out and paginated by Qt (QTextDocument printed on a QPdfWriter).

No browser and no network: the same packaged template as the HTML report, in the HTML subset
QTextDocument understands, with the charts as in-memory image resources. Qt is allowed here
(and in ``charts.py``) only; call it from the thread that owns the QApplication.
"""

from __future__ import annotations

from lrdoctor import __version__
from lrdoctor.report.charts import _ensure_app
from lrdoctor.report.html import render_template
from lrdoctor.report.model import Report

# A4. QTextDocument.print_ adds its own 2 cm margins (and the page number below them), so the
# writer's margins stay 0. The text is 595 - 2 x 56.7 = ~482 pt wide and an image's width
# attribute is drawn at 0.75 pt per unit (measured with pdfimages -list: 640 -> 480 pt).
PAGE_MARGIN_MM = 0
PDF_IMAGE_WIDTH = 640
PDF_RESOLUTION = 300  # dpi of the PDF's coordinate system: crisp charts, small enough files


def render_pdf(report: Report, charts: dict[str, bytes]) -> bytes:
    """The report as PDF bytes (A4, paginated, page numbers at the bottom)."""
    _ensure_app()
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QUrl
    from PySide6.QtGui import QImage, QPageLayout, QPageSize, QPdfWriter, QTextDocument

    doc = QTextDocument()
    images = {}
    for key, png in charts.items():
        url = f"chart-{key}.png"
        doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(url), QImage.fromData(png, "PNG"))
        images[key] = url
    doc.setHtml(render_template(report, images, for_pdf=True, pdf_image_width=PDF_IMAGE_WIDTH))
    doc.setMetaInformation(QTextDocument.MetaInformation.DocumentTitle, report.title)

    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buf)
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    writer.setPageMargins(QMarginsF(*(PAGE_MARGIN_MM,) * 4), QPageLayout.Unit.Millimeter)
    writer.setResolution(PDF_RESOLUTION)
    writer.setTitle(report.title)
    writer.setCreator(f"lrdoctor {__version__}")
    doc.print_(writer)
    del writer  # finishes the PDF into the buffer
    buf.close()
    return bytes(data.data())
