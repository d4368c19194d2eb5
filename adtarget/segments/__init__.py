"""Audience segments: templates sales pick from, their exact size, and the segment registry.

- :mod:`~adtarget.segments.templates`: the ~20 templates as data (params schema, HiveQL file);
- :mod:`~adtarget.segments.params`: validation that names the bad field and value;
- :mod:`~adtarget.segments.query` and :mod:`~adtarget.segments.staging`: a template's HiveQL
  with its params staged as tables, never written into the SQL text;
- :mod:`~adtarget.segments.sizing`: the exact count over HiveServer2;
- :mod:`~adtarget.segments.registry`: registered segments, versions, status, size requests;
- :mod:`~adtarget.segments.form` and :mod:`~adtarget.segments.task`: what the audience DAGs
  show and do.
"""
