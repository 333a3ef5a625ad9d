"""An upload handler that refuses over-large files while they stream in (P1).

Django spools uploads to a temporary file past FILE_UPLOAD_MAX_MEMORY_SIZE, so a 50 MB
photo never sits in memory, but it would still be written to disk whole. This handler
runs first: once a file passes SMC_PHOTO_MAX_MB it drops the file (SkipFile: the rest of
its bytes are read off the connection and thrown away, never stored) and notes its name
on the request, so the view can say which photo was too large.
"""

from django.core.files.uploadhandler import FileUploadHandler, SkipFile

from posting.photos import max_bytes


class RefuseLargeFiles(FileUploadHandler):
    def new_file(self, field_name, file_name, content_type, content_length, charset=None,
                 content_type_extra=None):  # fmt: skip
        super().new_file(field_name, file_name, content_type, content_length, charset,
                         content_type_extra)  # fmt: skip
        self.received = 0
        if content_length is not None and content_length > max_bytes():
            self._refuse()

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > max_bytes():
            self._refuse()
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler (memory or temporary file) keeps the file

    def _refuse(self):
        refused = getattr(self.request, "smc_refused_uploads", None)
        if refused is None:
            refused = self.request.smc_refused_uploads = []
        refused.append(self.file_name)
        raise SkipFile()
