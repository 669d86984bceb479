"""Generates the small ONNX test models Strata's tests and demo use (committed beside this file).

  /usr/bin/python3 models/generate.py        # needs Debian's python3-onnx (onnx.helper)

Each model goes to models/<name>/model.onnx. A SageMaker model artifact is that directory
as a gzip tar with model.onnx at its root:

  tar -czf model.tar.gz -C models/classifier model.onnx
"""
import os

import onnx
from onnx import TensorProto, helper

HERE = os.path.dirname(os.path.abspath(__file__))
OPSET = [helper.make_opsetid("", 15), helper.make_opsetid("ai.onnx.ml", 2)]


def save(name, graph, opsets=OPSET):
    model = helper.make_model(graph, opset_imports=opsets, producer_name="strata-models")
    model.ir_version = 8
    onnx.checker.check_model(model)
    os.makedirs(os.path.join(HERE, name), exist_ok=True)
    onnx.save(model, os.path.join(HERE, name, "model.onnx"))
    print(f"wrote {name}/model.onnx")


def tensor(name, dtype, dims, values):
    return helper.make_tensor(name, dtype, dims, values)


# regression: prediction = features · [0.5, -1, 2, 0.25] + 0.1
save("regression", helper.make_graph(
    [helper.make_node("Gemm", ["features", "W", "B"], ["prediction"])],
    "regression",
    [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", 4])],
    [helper.make_tensor_value_info("prediction", TensorProto.FLOAT, ["N", 1])],
    [tensor("W", TensorProto.FLOAT, [4, 1], [0.5, -1.0, 2.0, 0.25]), tensor("B", TensorProto.FLOAT, [1], [0.1])],
))

def seq_of_map(key_type):
    # seq(map(key_type, float)), spelled out: onnx 1.12's helper has no make_map_type_proto.
    t = onnx.TypeProto()
    t.sequence_type.elem_type.map_type.key_type = key_type
    t.sequence_type.elem_type.map_type.value_type.tensor_type.elem_type = TensorProto.FLOAT
    return t


# classifier: a linear 3-class model with softmax probabilities (ONNX-ML LinearClassifier + ZipMap),
# as scikit-learn exports them: a label per record and a {class: probability} map per record.
labels = ["setosa", "versicolor", "virginica"]
save("classifier", helper.make_graph(
    [
        helper.make_node("LinearClassifier", ["features"], ["label", "scores"], domain="ai.onnx.ml",
                         classlabels_strings=labels, post_transform="SOFTMAX",
                         coefficients=[1.0, 0.0, -1.0, 0.0,   0.0, 1.0, 0.0, -1.0,   -1.0, -1.0, 1.0, 1.0],
                         intercepts=[0.5, 0.0, -0.5]),
        helper.make_node("ZipMap", ["scores"], ["probabilities"], domain="ai.onnx.ml", classlabels_strings=labels),
    ],
    "classifier",
    [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", 4])],
    [
        helper.make_tensor_value_info("label", TensorProto.STRING, ["N"]),
        helper.make_value_info("probabilities", seq_of_map(TensorProto.STRING)),
    ],
))

# zipmaps: one classifier's scores zipped twice, with labels out of the order ONNX Runtime's maps
# list them: int64 labels (sorted by value) and string labels whose UTF-8 order is not their UTF-16
# order (U+FF21 before U+1F600 in UTF-8, after it in UTF-16). The scores are an output too.
int_labels = [7, -3, 10]
zipmaps = helper.make_graph(
    [
        helper.make_node("LinearClassifier", ["features"], ["label", "scores"], domain="ai.onnx.ml",
                         classlabels_ints=int_labels, post_transform="SOFTMAX",
                         coefficients=[1.0, 0.0, -1.0, 0.0,   0.0, 1.0, 0.0, -1.0,   -1.0, -1.0, 1.0, 1.0],
                         intercepts=[0.5, 0.0, -0.5]),
        helper.make_node("ZipMap", ["scores"], ["by_id"], domain="ai.onnx.ml", classlabels_int64s=int_labels),
        helper.make_node("ZipMap", ["scores"], ["by_name"], domain="ai.onnx.ml",
                         classlabels_strings=["\uFF21", "\U0001F600", "b"]),
    ],
    "zipmaps",
    [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", 4])],
    [
        helper.make_tensor_value_info("label", TensorProto.INT64, ["N"]),
        helper.make_value_info("by_id", seq_of_map(TensorProto.INT64)),
        helper.make_value_info("by_name", seq_of_map(TensorProto.STRING)),
        helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", 3]),
    ],
)
save("zipmaps", zipmaps)


# ZipMaps the worker must leave to ONNX Runtime (the same classifier each time): one with a
# repeated label (a map keeps one entry of the two), and one in a model that imports only
# ai.onnx.ml, where the Identity that replaces a ZipMap does not exist.
def zipmap_model(name, labels, opsets=OPSET):
    save(name, helper.make_graph(
        [
            helper.make_node("LinearClassifier", ["features"], ["label", "scores"], domain="ai.onnx.ml",
                             classlabels_ints=[0, 1, 2], post_transform="SOFTMAX",
                             coefficients=[1.0, 0.0, -1.0, 0.0,   0.0, 1.0, 0.0, -1.0,   -1.0, -1.0, 1.0, 1.0],
                             intercepts=[0.5, 0.0, -0.5]),
            helper.make_node("ZipMap", ["scores"], ["maps"], domain="ai.onnx.ml", classlabels_strings=labels),
        ],
        name,
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", 4])],
        [helper.make_value_info("maps", seq_of_map(TensorProto.STRING))],
    ), opsets)


zipmap_model("zipmap_repeated", ["a", "a", "b"])
zipmap_model("zipmap_ml_only", ["a", "b", "c"], opsets=[helper.make_opsetid("ai.onnx.ml", 2)])

# two_inputs: sum = a + 2·b, two named inputs.
save("two_inputs", helper.make_graph(
    [helper.make_node("Mul", ["b", "two"], ["b2"]), helper.make_node("Add", ["a", "b2"], ["sum"])],
    "two_inputs",
    [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["N", 3]), helper.make_tensor_value_info("b", TensorProto.FLOAT, ["N", 3])],
    [helper.make_tensor_value_info("sum", TensorProto.FLOAT, ["N", 3])],
    [tensor("two", TensorProto.FLOAT, [], [2.0])],
))

# typed: int64, string and int32 inputs; int64, bool and int32 outputs.
#   score = sum(ids, axis 1) + code(name), code: cat→1, dog→2, else 0
#   is_known = code(name) > 0;  counts_doubled = counts · 2
save("typed", helper.make_graph(
    [
        helper.make_node("ReduceSum", ["ids", "axis1"], ["id_sum"], keepdims=1),
        helper.make_node("LabelEncoder", ["names"], ["code"], domain="ai.onnx.ml",
                         keys_strings=["cat", "dog"], values_int64s=[1, 2], default_int64=0),
        helper.make_node("Add", ["id_sum", "code"], ["score"]),
        helper.make_node("Greater", ["code", "zero"], ["is_known"]),
        helper.make_node("Mul", ["counts", "two32"], ["counts_doubled"]),
    ],
    "typed",
    [
        helper.make_tensor_value_info("ids", TensorProto.INT64, ["N", 2]),
        helper.make_tensor_value_info("names", TensorProto.STRING, ["N", 1]),
        helper.make_tensor_value_info("counts", TensorProto.INT32, ["N", 1]),
    ],
    [
        helper.make_tensor_value_info("score", TensorProto.INT64, ["N", 1]),
        helper.make_tensor_value_info("is_known", TensorProto.BOOL, ["N", 1]),
        helper.make_tensor_value_info("counts_doubled", TensorProto.INT32, ["N", 1]),
    ],
    [tensor("axis1", TensorProto.INT64, [1], [1]), tensor("zero", TensorProto.INT64, [], [0]), tensor("two32", TensorProto.INT32, [], [2])],
))

# scaler: doubles in, doubles out: y = 2·x - 1
save("scaler", helper.make_graph(
    [helper.make_node("Mul", ["x", "two"], ["x2"]), helper.make_node("Sub", ["x2", "one"], ["y"])],
    "scaler",
    [helper.make_tensor_value_info("x", TensorProto.DOUBLE, ["N", 2])],
    [helper.make_tensor_value_info("y", TensorProto.DOUBLE, ["N", 2])],
    [tensor("two", TensorProto.DOUBLE, [], [2.0]), tensor("one", TensorProto.DOUBLE, [], [1.0])],
))


# counter_lm: a causal language model small enough to check by hand, for token streaming. Its
# logits at each position make the next token (t + 1) mod 16, surely (8 against 0: probability
# e^8 / (e^8 + 15), log-probability about -0.0050), as a model exported for text generation takes
# input_ids [batch, sequence] and gives logits [batch, sequence, vocabulary].
VOCAB = 16
save("counter_lm", helper.make_graph(
    [helper.make_node("Gather", ["embedding", "input_ids"], ["logits"], axis=0)],
    "counter_lm",
    [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"])],
    [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "sequence", VOCAB])],
    [tensor("embedding", TensorProto.FLOAT, [VOCAB, VOCAB],
            [8.0 if j == (i + 1) % VOCAB else 0.0 for i in range(VOCAB) for j in range(VOCAB)])],
))
