"""Shared sessions on S3 (#18): the journal and the lease in a bucket every machine can reach.

``url`` (which store), ``bucket`` (the S3 calls), ``objects`` (one object per event, checked on
the way back), ``lease`` (who drives, across machines), ``uploader`` (background upload and
renewal), ``store`` (``SharedStore``: what ``SessionStore`` calls). Nothing here is imported
unless a store is configured.
"""
