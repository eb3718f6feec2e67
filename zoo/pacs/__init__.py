"""A PACS over DICOMweb: find studies (QIDO-RS), fetch their images (WADO-RS), analyze them
and file the results back (STOW-RS), with the kept ``dicomweb-client`` library.

Credentials come from the environment or Streamlit secrets (:mod:`zoo.pacs.settings`) and
never appear in a log, a message or a repr.
"""

from zoo.pacs.client import InstanceRef, PacsClient, StudySummary
from zoo.pacs.settings import PacsSettings

__all__ = ["InstanceRef", "PacsClient", "PacsSettings", "StudySummary"]
