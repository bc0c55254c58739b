"""Training settings shared by several models, each written once (the recipe table names the rest).

Light on purpose: the recipe table (:mod:`course_lib.recipes`) reads it without loading Keras.
"""

LEARNING_RATE = 2e-3  # Adam's step for the melody, piano-roll and four-voice models (the GAN has its own)
