import { describeStorageContract } from '../storage/storage-contract';
import { useS3Server } from './test-server';

const s3 = useS3Server();

describeStorageContract('S3Storage', async () => s3.storage());
