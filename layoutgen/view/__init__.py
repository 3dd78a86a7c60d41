"""Viewing: KLayout previews, the klive link, the HTML report, progress bars."""
