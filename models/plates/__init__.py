"""Chinese licence-plate recognition (crops and full frames).

Map of the package (what the pipeline runs):

- ``charset``   the characters the model was trained to emit, and their label ids
                (what a plate may hold is ``models.plate_rules``).
- ``model``     the CRNN + CTC network and its preprocessing.
- ``decode``    CTC decoding with per-character confidences and alternates.
- ``grammar``   which strings are plates, and the most probable read that is one.
- ``region``    the cameras' province as the prior of an unsure province character.
- ``locate``    finding, rectifying and re-cutting plates in full frames (OpenCV).
- ``slant``     setting slanted characters upright before they are read.
- ``rows``      double-row plates laid out as one row.
- ``enhance``   low-light / low-contrast correction, applied only where it helps.
- ``images``    safe image decoding and image-reference loading.
- ``reader``    ``PlateReader``: the API the pipeline calls; the committee of weights.
- ``cli``       ``roadchief recognize FILE...``.
- ``weights/``  the trained committee the reader loads.

``training/`` makes those weights and is not shipped to workers: synthetic
plates and frames (``render``, ``glyphs``, ``fonts/``), the real crops'
training half (``real``) and the training run (``train``).
"""
