/* Test-only: Wine 8.0 has no bcryptprimitives.dll!ProcessPrng, which the
 * Rust standard library (1.78 and later) calls for random bytes; real
 * Windows 10/11 has it. .ci/windows builds this shim with mingw and puts it
 * in the Wine prefix only; it is never shipped. ProcessPrng never fails on
 * Windows, and advapi32!SystemFunction036 (RtlGenRandom) draws from the
 * same system generator. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
