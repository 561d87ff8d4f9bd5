"""Ask: long-form answers written from the library's moments, every sentence citing a moment with its time.

See ``service`` for the flow, ``base`` for the generator contract and ``registry`` for choosing a generator.
"""
