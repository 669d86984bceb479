// The AWS SDK for JavaScript v3 against Strata, configured only by what `strata env` exports
// (AWS_REGION, AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).
import { S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand } from "@aws-sdk/client-s3";
import { SageMakerRuntimeClient, InvokeEndpointCommand } from "@aws-sdk/client-sagemaker-runtime";

const s3 = new S3Client();
await s3.send(new CreateBucketCommand({ Bucket: "js-example" }));
await s3.send(new PutObjectCommand({ Bucket: "js-example", Key: "hello.txt", Body: "hello from the JS SDK v3" }));
const object = await s3.send(new GetObjectCommand({ Bucket: "js-example", Key: "hello.txt" }));
console.log(await object.Body.transformToString());

const runtime = new SageMakerRuntimeClient();
const answer = await runtime.send(new InvokeEndpointCommand({ EndpointName: "demo", ContentType: "text/csv", Body: "5.1,3.5,1.4,0.2" }));
console.log(answer.InvokedProductionVariant, new TextDecoder().decode(answer.Body));
