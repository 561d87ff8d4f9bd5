"""The HTTP face of Atlas: a FastAPI app (``create_app``) over the Library, plus the web page in atlas/web.

Routes stay thin: they validate, call the Library, and shape JSON. See docs/api.md.
"""
