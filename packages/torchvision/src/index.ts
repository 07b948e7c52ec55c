export {
  readSafetensors,
  writeSafetensors,
  safetensorsToFloat32,
  safetensorsToBigInt64,
  SAFETENSORS_DTYPE_SIZE,
  type SafetensorsDtype,
  type SafetensorsEntry,
  type SafetensorsFile,
  type SafetensorsInput,
  type SafetensorsData,
} from './safetensors';
export { SafetensorsError, StateDictError, type StateDictProblem } from './errors';
