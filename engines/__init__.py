"""Engine adapters: one interface (:mod:`engines.base`), one package per database kind
(``postgres/``, ``sqlite/``, ``mongodb/``, ``chroma/``), each described once by its
descriptor; :mod:`engines.registry` finds them by kind. This package's own import does
nothing, so ``engines.errors`` stays cheap for the command line.
"""
