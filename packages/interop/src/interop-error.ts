import { SgdwalkError } from '@sgdwalk/core';

/** An input file of an import (or export) that is not what it must be: names the file and the tensor. */
export function interopError(file: string, message: string, tensor?: string): SgdwalkError {
  return new SgdwalkError(`${file}: ${tensor === undefined ? '' : `tensor ${tensor}: `}${message}`, 'import', { file, field: tensor });
}
