import { describeStorageContract } from '../storage/storage-contract.test-support';
import { useS3Server } from './use-s3-server.test-support';

const s3 = useS3Server();

describeStorageContract('S3Storage', async () => s3.storage());
