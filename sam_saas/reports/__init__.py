"""CSV reports: one definition per report (``registry``), streamed by one writer
(``csv_stream``), reached from the admin's "Export CSV" buttons, ``/reports/<name>.csv`` and
``manage.py export_report``."""
