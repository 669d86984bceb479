"""What the Model Monitor scripts share: an endpoint of the built-in worker that captures its CSV
requests and responses (or nothing), and the wait for a schedule's first execution to end."""
import io
import os
import tarfile

from harness import unique, until

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/strata-onnx:1"
MODELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models")
TERMINAL = ("Completed", "CompletedWithViolations", "Failed", "Stopped")


def deploy(sm, s3, bucket, role, model="regression", capture=True):
    """An endpoint serving models/<model>/model.onnx, in service; with `capture`, every request
    and response captured to s3://<bucket>/capture."""
    key = f"model/{unique('v')}/model.tar.gz"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(os.path.join(MODELS, model, "model.onnx"), arcname="model.onnx")
    s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())
    name = unique("ep")
    sm.create_model(ModelName=name, ExecutionRoleArn=role, PrimaryContainer={"Image": IMAGE, "ModelDataUrl": f"s3://{bucket}/{key}"})
    config = {"EndpointConfigName": name, "ProductionVariants": [
        {"VariantName": "main", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": "ml.t2.medium"}]}
    if capture:
        config["DataCaptureConfig"] = {"EnableCapture": True, "InitialSamplingPercentage": 100, "DestinationS3Uri": f"s3://{bucket}/capture",
                                       "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
                                       "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"]}}
    sm.create_endpoint_config(**config)
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    until("the endpoint in service", lambda: sm.describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService", 120)
    return name


def ended(sm, schedule_name):
    """The schedule's latest execution once it has ended (three minutes at most)."""
    found = []

    def check():
        found[:] = sm.list_monitoring_executions(MonitoringScheduleName=schedule_name)["MonitoringExecutionSummaries"]
        return found and found[0]["MonitoringExecutionStatus"] in TERMINAL
    until(f"an execution of {schedule_name} ends", check, 180)
    return found[0]
