# KC301 false positive. New pattern 10: an ignored argument that agrees with the model.
# Why false: input_dim / input_shape on a later layer is ignored by Keras, but here it
# repeats exactly what that layer receives (4 units from the Dense before it; the same
# shape as a Masking, Reshape, GaussianNoise or InputLayer before it). Nothing the author
# set is lost and no misunderstanding is evidenced; the model is as intended. Report only
# when the given shape differs from what the layer really receives (as in
# jeffheaton/t81_558_deep_learning t81_558_class_14_04_ids_kdd99.ipynb, where
# input_dim=x.shape[1] sits on layers fed 10 and 50 units: those findings are right).
# Seen in: ArabelaTso/DeepFD Benchmark/Subjects (6 findings); Wardat-ISU/DeepLocalize
#          Benchmark/StackOverflow/31556268, 31627380, 34673164 (5); PacktPublishing
#          Deep-Learning-with-Keras Chapter04/dcgan.py and Generative-Adversarial-Networks-
#          Projects Chapter04/run.py (Reshape); dipanjanS/hands-on-transfer-learning-with-
#          python CNN with Transfer Learning.ipynb and tensorflow/docs guide/migrate/
#          tflite.ipynb (after an InputLayer); neuralint sample GitHub Samples/8.py.
from tensorflow import keras

model = keras.Sequential()
model.add(keras.layers.Dense(4, input_dim=2, activation="sigmoid"))
model.add(keras.layers.Dense(1, input_dim=4, activation="sigmoid"))
model.compile(loss="binary_crossentropy", optimizer="sgd")
