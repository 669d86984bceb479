"""Holds Strata's declared operations against the installed botocore models.

  python3 model_check.py SERVICE OPERATION [OPERATION ...] [--newer OPERATION ...]

Each operation must exist in the service's model, and each must be exercised by the
end-to-end client scripts beside this file (its boto3 method or CLI command appears there),
so that adding an operation without a real-client test fails CI. Operations after --newer are
newer than the client's model (an older botocore lacks them) and are only checked for a test.
"""
import glob
import os
import sys

import botocore.session
from botocore import xform_name


def main():
    service, operations = sys.argv[1], sys.argv[2:]
    newer = []
    if "--newer" in operations:
        at = operations.index("--newer")
        operations, newer = operations[:at], operations[at + 1:]
    model = botocore.session.get_session().get_service_model(service)
    here = os.path.dirname(os.path.abspath(__file__))
    scripts = "\n".join(open(p).read() for p in glob.glob(os.path.join(here, "*.py")) + glob.glob(os.path.join(here, "*.sh"))
                        if not p.endswith("model_check.py"))
    problems = []
    for op in operations + newer:
        if op in newer and op not in model.operation_names:
            pass
        elif op not in model.operation_names:
            problems.append(f"{op}: not an operation of {service} in botocore {botocore.__version__}")
            continue
        snake = xform_name(op)
        if snake not in scripts and snake.replace("_", "-") not in scripts:
            problems.append(f"{op}: no end-to-end client test calls {snake}")
    for p in problems:
        print(p)
    print(f"{len(operations) - len(problems)} of {len(operations)} operations match the {service} model and are tested")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
