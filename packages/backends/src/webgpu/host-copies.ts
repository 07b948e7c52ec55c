/**
 * Host copies of small tensors on tfjs-backend-webgpu. Internal to the package.
 */

/** Most elements of a tensor whose host values webgpu keeps after uploading them. */
const SMALL_TENSOR_ELEMENTS = 1024;

interface WebgpuTensorData {
  values: ArrayLike<number> | null;
  resource: unknown;
  dtype: string;
}
interface WebgpuBackendUploads {
  tensorMap: { get(dataId: object): WebgpuTensorData };
  uploadToGPU(dataId: object): void;
}

/**
 * tfjs-backend-webgpu drops a tensor's host values once it has uploaded them. For small tensors made from
 * host values (the scalars an optimizer keeps: SGD's and momentum's learning rate and momentum) detkit keeps
 * them beside the buffer: a tensor's data never changes once written (a variable's assign takes new data),
 * so the copy stays right, and moving such a tensor to another backend (`useBackend` between two training
 * steps) needs no synchronous GPU read, which a browser cannot do well (a canvas round trip that headless
 * Chromium on SwiftShader loses the device on). Up to {@link SMALL_TENSOR_ELEMENTS} elements per tensor.
 */
export function keepSmallHostCopies(backend: unknown): void {
  const b = backend as WebgpuBackendUploads;
  const upload = b.uploadToGPU.bind(b);
  b.uploadToGPU = (dataId: object) => {
    const data = b.tensorMap.get(dataId);
    const values = data.resource == null && data.dtype !== 'complex64' ? data.values : null;
    upload(dataId);
    if (values != null && values.length <= SMALL_TENSOR_ELEMENTS && data.values == null) data.values = values;
  };
}
