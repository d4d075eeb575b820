"""Chinese licence-plate recognition (crops and full frames).

Map of the package:

- ``charset``   the characters the model was trained to emit, and their label ids
                (what a plate may hold is ``models.plate_rules``).
- ``render``    synthetic plates and road frames (training data, tests, simulator).
- ``glyphs``    the stroke-drawn plate face for letters and digits.
- ``model``     the CRNN + CTC network and its preprocessing.
- ``train``     seeded training on synthetic data, then fine-tuning -> ``weights/``.
- ``real``      the real crops' training and test halves, and their variation.
- ``decode``    CTC decoding with per-character confidences and alternates.
- ``grammar``   which strings are plates, and the most probable read that is one.
- ``locate``    finding, rectifying and re-cutting plates in full frames (OpenCV).
- ``slant``     setting slanted characters upright before they are read.
- ``rows``      double-row plates laid out as one row.
- ``enhance``   low-light / low-contrast correction, applied only where it helps.
- ``images``    safe image decoding and image-reference loading.
- ``reader``    ``PlateReader``: the API the pipeline calls; the committee of weights.
- ``inference`` a Beam ``ModelHandler`` for ``RunInference``.
- ``cli``       ``roadchief recognize FILE...``.
"""
