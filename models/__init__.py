"""The plate recogniser: synthetic data, the CRNN model, localisation, the reader API.

Start at :mod:`models.plates.reader` (``PlateReader``) to read plates, and at
:mod:`models.plates.training.train` to rebuild the shipped weights.
"""
